--[[
  The adapter's revokeByGrantId: deletes every member of the grant (with their indexes), then
  the set. Idempotent: a missing set is a no-op.

  Input:
    KEYS[1] the grant set

    ARGV[1] records prefix
    ARGV[2] uid prefix
    ARGV[3] userCode prefix

  Output:
    1
]]
--- @include "adapterHelpers"

revokeGrant(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
