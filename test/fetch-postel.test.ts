import { postelFixture } from './support/client-mailservers.js';
import { describeFetchScenarios } from './support/client-scenarios.js';

// Every policy and destination against postel's own server (plain TCP until its TLS lands).
describeFetchScenarios("postel's server", postelFixture);
