/** GET /health: the one route open without a key. It says the API answers, and nothing else. */
import { httpRoute, json } from '#shared/http';

export const handler = httpRoute({}, async () => json(200, { status: 'ok' }), { public: true });
