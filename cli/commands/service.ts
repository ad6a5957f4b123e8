/** `gpulse service`: a hardened systemd unit for this binary. */
import { fileURLToPath } from 'node:url';
import type { ParsedValue } from '../args.ts';

/**
 * A compiled gpulse runs its modules from Bun's embedded filesystem (/$bunfs/…, B:/~BUN/… on
 * Windows). Anything else is a source checkout run by Bun, whose process.execPath is the Bun
 * executable (node_modules/bun/bin/bun.exe under npx): copying that as gpulse installs Bun.
 */
export const runningFromSource = (path = import.meta.path) => !path.startsWith('/$bunfs/') && !path.startsWith('B:/~BUN/');

/** The comment lines that say how to install, for a built executable or for a source checkout. */
export function installLines(fromSource: boolean, exe: string, checkout: string): string {
  if (fromSource) {
    return `# This is a source checkout (${checkout}) run by Bun, not the gpulse executable. Build it, then install:
#   cd ${checkout} && npm ci && npm run build
#   sudo install -m 0755 ${checkout}/dist/gpulse /usr/local/bin/gpulse
#   /usr/local/bin/gpulse service | sudo tee /etc/systemd/system/gpulse.service
#   sudo systemctl daemon-reload && sudo systemctl enable --now gpulse`;
  }
  const copy = exe === '/usr/local/bin/gpulse' ? '' : `sudo install -m 0755 ${exe} /usr/local/bin/gpulse && `;
  return `# Install: ${copy}gpulse service | sudo tee /etc/systemd/system/gpulse.service
#          sudo systemctl daemon-reload && sudo systemctl enable --now gpulse`;
}

export function service(flags: Record<string, ParsedValue>) {
  const checkout = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
  const bind = (flags.bind as string) ?? '127.0.0.1';
  const port = (flags.port as number) ?? 9740;
  process.stdout.write(`${installLines(runningFromSource(), process.execPath, checkout)}
# Token:   sudo -u gpulse env XDG_CONFIG_HOME=/var/lib/gpulse/config /usr/local/bin/gpulse pair --url http://HOST:${port}
[Unit]
Description=gpulse GPU and host monitor
Documentation=https://github.com/gpulse/gpulse
After=network-online.target nvidia-persistenced.service
Wants=network-online.target

[Service]
Type=simple
ExecStart=/usr/local/bin/gpulse serve --bind ${bind} --port ${port} --data-dir /var/lib/gpulse/state
Environment=XDG_CONFIG_HOME=/var/lib/gpulse/config
DynamicUser=yes
StateDirectory=gpulse
StateDirectoryMode=0700
# Lets NVML open /dev/nvidia* (the video group owns them on most distributions).
SupplementaryGroups=video render
Restart=on-failure
RestartSec=2s
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
MemoryMax=256M
CPUQuota=50%

[Install]
WantedBy=multi-user.target
`);
}
