/**
 * `--client-capath DIR` (nvitop monitor-web's flag): every PEM certificate in the files of DIR.
 * OpenSSL's capath wants `<hash>.0` links; here any regular file holding a PEM certificate counts,
 * so both a c_rehash'ed directory and a plain folder of `*.pem`/`*.crt` files work.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates found, deduplicated (hash links repeat their target); throws naming the flag when there are none. */
export function readCaDir(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new Error(`--client-capath: cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const certs = new Set<string>();
  for (const n of names) {
    const p = join(dir, n);
    try {
      if (!statSync(p).isFile()) continue;
      for (const m of readFileSync(p, 'utf8').matchAll(PEM_CERT)) certs.add(m[0]);
    } catch {
      /* an unreadable entry is skipped: the others may still hold the CA */
    }
  }
  if (!certs.size) throw new Error(`--client-capath: no PEM certificates in ${dir}`);
  return [...certs];
}
