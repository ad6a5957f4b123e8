/** Terminal QR code for the pairing link (phones scan it to add the agent). */
// @ts-expect-error: qrcode-terminal ships no types
import qrcode from 'qrcode-terminal';

export function qrLines(text: string): string[] {
  let out = '';
  qrcode.generate(text, { small: true }, (s: string) => {
    out = s;
  });
  return out.split('\n');
}
