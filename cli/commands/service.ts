/** `gpulse service`: a hardened systemd unit for this binary. */
import type { ParsedValue } from '../args.ts';

export function service(flags: Record<string, ParsedValue>) {
  const exe = process.execPath.endsWith('/bun') ? '/usr/local/bin/gpulse' : process.execPath;
  const bind = (flags.bind as string) ?? '127.0.0.1';
  const port = (flags.port as number) ?? 9740;
  process.stdout.write(`# Install: sudo cp ${exe} /usr/local/bin/gpulse && gpulse service | sudo tee /etc/systemd/system/gpulse.service
#          sudo systemctl daemon-reload && sudo systemctl enable --now gpulse
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
