// Trunk post_build hook: put the SHA-256 of every inline <script> of the staged index.html
// into its Content-Security-Policy, so the page runs without 'unsafe-inline'.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('csp-hash: TRUNK_STAGING_DIR is not set (run me as a Trunk hook)');
  process.exit(1);
}
const file = join(dir, 'index.html');
const html = readFileSync(file, 'utf8');
const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
  .map(([, body]) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`);
if (!html.includes('__CSP_SCRIPT_HASHES__')) {
  console.error('csp-hash: index.html has no __CSP_SCRIPT_HASHES__ placeholder');
  process.exit(1);
}
writeFileSync(file, html.replace('__CSP_SCRIPT_HASHES__', hashes.join(' ')));
console.log(`csp-hash: ${hashes.length} inline script hash(es) added to the CSP`);
