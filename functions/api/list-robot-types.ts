/** GET /robot-types — the catalog, as clients need it to place orders. */
import { describeRobotType, robotTypes } from '#domain/catalog';
import { httpRoute, json } from '#shared/http';

const described = robotTypes.map(describeRobotType);

export const handler = httpRoute({}, async () => json(200, described));
