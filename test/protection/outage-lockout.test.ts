import t from 'tap'
import { lockoutApp, lockoutScenarios } from './lockout-scenarios.js'

// A store outage must never become a lockout; the lockout follows docs/protection.md (memory counters).
lockoutScenarios(t, 'memory counters', async (t, store, core) => await lockoutApp(t, store, core))
