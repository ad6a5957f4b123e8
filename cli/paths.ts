/** XDG locations: the token lives in the config dir, history in the state dir. */
import { homedir } from 'node:os';
import { join } from 'node:path';

const home = () => process.env.HOME || homedir();
export const configDir = () => join(process.env.XDG_CONFIG_HOME || join(home(), '.config'), 'gpulse');
export const stateDir = () => join(process.env.XDG_STATE_HOME || join(home(), '.local', 'state'), 'gpulse');
export const defaultTokenFile = () => join(configDir(), 'token');
