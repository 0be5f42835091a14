// What the factory's bundles get for `semver` (bundle-function.mjs aliases it here). Its only user
// in them is the X-Ray SDK's patcher for the AWS SDK v2 (captureAWS), which the factory never
// calls: the real package is ~26 KB of every traced bundle.
const leftOut = () => {
  throw new Error(
    'semver is left out of the factory bundles (the X-Ray SDK needs it only for the AWS SDK v2)',
  );
};
module.exports = { gte: leftOut, satisfies: leftOut, valid: leftOut, coerce: leftOut };
