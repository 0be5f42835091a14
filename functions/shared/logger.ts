/** Structured one-line JSON logs: what CloudWatch Logs Insights and the local console both read. */
type Fields = Record<string, unknown>;

const write = (level: string, message: string, fields: Fields = {}) => {
  const line = JSON.stringify({
    level,
    message,
    timestamp: new Date().toISOString(),
    function: process.env.AWS_LAMBDA_FUNCTION_NAME,
    ...fields,
  });
  if (level === 'ERROR') console.error(line);
  else if (level !== 'DEBUG' || process.env.LOG_LEVEL === 'DEBUG') console.log(line);
};

export const logger = {
  debug: (message: string, fields?: Fields) => write('DEBUG', message, fields),
  info: (message: string, fields?: Fields) => write('INFO', message, fields),
  warn: (message: string, fields?: Fields) => write('WARN', message, fields),
  error: (message: string, fields?: Fields) => write('ERROR', message, fields),
};

export const describeError = (error: unknown) =>
  error instanceof Error
    ? { errorName: error.name, errorMessage: error.message, stack: error.stack }
    : { error };
