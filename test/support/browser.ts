/**
 * A minimal browser for driving login pages over real HTTP: a cookie jar (host + path
 * matching; like real browsers, cookies are not isolated by port, which lets one "browser" talk
 * to several issuer instances on one host), manual redirects, and form parsing. No JavaScript.
 */
interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
}

export interface Page {
  url: string;
  status: number;
  body: string;
  headers: Headers;
}

export class Browser {
  readonly cookies: Cookie[] = [];

  /** `fetcher` sends every request (e.g. one that trusts a test CA for an https issuer). */
  constructor(private readonly fetcher: typeof fetch = fetch) {}

  cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => c.host === url.hostname && url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const pathAttr = attrs.find((a) => a.toLowerCase().startsWith('path='));
      const path = pathAttr ? pathAttr.slice(5) : '/';
      const expired =
        attrs.some((a) => /^expires=thu, 01 jan 1970/i.test(a)) ||
        attrs.some((a) => /^max-age=0$/i.test(a));
      const idx = this.cookies.findIndex(
        (c) => c.name === name && c.host === url.hostname && c.path === path,
      );
      if (idx >= 0) this.cookies.splice(idx, 1);
      if (!expired && value !== '') this.cookies.push({ name, value, host: url.hostname, path });
    }
  }

  /** One request, no redirect following. */
  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(target);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    const res = await this.fetcher(target, { ...init, headers, redirect: 'manual' });
    this.store(target, res.headers);
    return { url, status: res.status, body: await res.text(), headers: res.headers };
  }

  /**
   * Follows redirects until a page on another origin than `stopAt` is reached or a non-redirect
   * answer comes. Returns the last page, or the redirect target URL as `url` with status 0 when
   * it points at `stopAt` (an RP callback that isn't served).
   */
  async follow(url: string, init: RequestInit = {}, stopAtPrefix?: string): Promise<Page> {
    let page = await this.request(url, init);
    for (let hops = 0; hops < 20; hops += 1) {
      if (page.status < 300 || page.status >= 400) return page;
      const location = new URL(page.headers.get('location') ?? '', page.url).toString();
      if (stopAtPrefix && location.startsWith(stopAtPrefix)) {
        return { url: location, status: 0, body: '', headers: new Headers() };
      }
      page = await this.request(location);
    }
    throw new Error('too many redirects');
  }

  /**
   * Submits the form whose action matches `actionPattern` (the `formIndex`-th such form; negative
   * counts from the end), with its hidden fields plus `fields`.
   */
  async submit(
    page: Page,
    actionPattern: RegExp,
    fields: Record<string, string>,
    stopAtPrefix?: string,
    formIndex = 0,
  ): Promise<Page> {
    const forms = [...page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].filter((m) => {
      const action = /action="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? '';
      return actionPattern.test(decodeEntities(action));
    });
    const form = forms.at(formIndex);
    if (!form)
      throw new Error(
        `no form matching ${actionPattern} on ${page.url}:\n${page.body.slice(0, 2000)}`,
      );
    const action = decodeEntities(/action="([^"]*)"/.exec(form[1] ?? '')?.[1] ?? '');
    const data = new URLSearchParams();
    for (const m of (form[2] ?? '').matchAll(/<input\b[^>]*>/g)) {
      const tag = m[0];
      if (!/type="hidden"/.test(tag)) continue;
      const name = /name="([^"]*)"/.exec(tag)?.[1];
      const value = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
      if (name) data.set(decodeEntities(name), decodeEntities(value));
    }
    for (const [k, v] of Object.entries(fields)) data.set(k, v);
    const target = new URL(action, page.url).toString();
    return this.follow(
      target,
      {
        method: 'POST',
        body: data,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      stopAtPrefix,
    );
  }
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
