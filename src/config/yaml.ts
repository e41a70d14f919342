import type * as Yaml from 'yaml';
import { lazyModule } from '../lazy-module.js';

/** The yaml module: only reading a YAML config file and `config print` load it. */
export const yaml = lazyModule<typeof Yaml>('yaml');
