/** GET /robot-types — the catalog, as clients need it to place orders. */
import * as z from 'zod';
import { describeRobotType, robotTypes } from '#domain/catalog';
import { httpRoute, json } from '#shared/http';

const described = robotTypes.map(describeRobotType);

const robotTypeSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    specificationsSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of `specifications`'),
    steps: z.array(
      z.object({
        name: z.string(),
        jobType: z.string(),
        description: z.string(),
        dependsOn: z.array(z.string()),
        maxAttempts: z.int().min(1),
        timeoutSeconds: z.number(),
      }),
    ),
  })
  .meta({ id: 'RobotType' });

export const handler = httpRoute({ responses: { 200: z.array(robotTypeSchema) } }, async () =>
  json(200, described),
);
