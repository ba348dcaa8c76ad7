import { dovecotFixture } from './support/client-mailservers.js';
import { describeFetchScenarios } from './support/client-scenarios.js';
import { dovecotUnavailable } from './support/dovecot.js';

// Every policy and destination against a real Dovecot, over implicit TLS.
describeFetchScenarios('Dovecot (pop3s)', dovecotFixture, await dovecotUnavailable());
