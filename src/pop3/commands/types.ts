import type { Command } from '../parser.js';
import type { Session } from '../session.js';

export type Handler = (session: Session, command: Command) => Promise<void>;
