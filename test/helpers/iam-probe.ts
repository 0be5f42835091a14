/** The user agent of iam.test.ts's deliberate probes: the suite's teardown expects their refusals. */
export const iamProbeAgent = 'factory-iam-probe';
