/**
 * Structured one-line JSON logs (Powertools Logger): what CloudWatch Logs Insights and the local
 * function log both read. Handlers add their invocation's Lambda context with the
 * `injectLambdaContext` middy middleware; a line carries the correlation ids its code knows
 * (jobId, orderId, requestId, messageId). Concurrent work of one invocation (the records of an SQS
 * batch) logs through a child logger each, so that one record's keys never land on another's lines.
 */
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type {
  ConstructorOptions,
  LogAttributes,
  UnformattedAttributes,
} from '@aws-lambda-powertools/logger/types';

/** The `service` of every log line and the metrics' service dimension. */
export const serviceName = 'robot-factory';

/**
 * The local cloud writes each function's lines to .local/lambda.log behind the function's name:
 * its ARN, name and memory, the sampling rate and the service would only repeat that on every
 * line. The request id stays (it groups an invocation's lines); the keys are those of AWS.
 */
export class LocalLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        function_request_id: attributes.lambdaContext?.awsRequestId,
      },
    }).addAttributes(additional);
  }
}

class FactoryLogger extends Logger {
  /**
   * Each Logger instance keeps a cold-start flag of its own: a child made per SQS record would say
   * `cold_start: true` on every record. Only the handler's own lines tell a cold start.
   */
  protected override createLogger(options?: ConstructorOptions): FactoryLogger {
    const child = new FactoryLogger(options);
    child.coldStart = false;
    return child;
  }
}

export const logger: Logger = new FactoryLogger({
  serviceName,
  ...(process.env.LOCAL_CLOUD === 'true' ? { logFormatter: new LocalLogFormatter() } : {}),
});

/** What one unit of concurrent work (an SQS record) logs through: its keys ride on each of its lines. */
export interface KeyedLog {
  appendKeys(keys: LogAttributes): void;
  debug(message: string, ...extra: LogAttributes[]): void;
  info(message: string, ...extra: LogAttributes[]): void;
  warn(message: string, ...extra: LogAttributes[]): void;
  error(message: string, ...extra: LogAttributes[]): void;
}

/**
 * A logger that adds `keys` (and those appended later) to each line it writes through `base`.
 * Not a Powertools child logger: `createChild` builds a whole Logger per record (its options, a
 * Console of its own), ~4 % of a job worker's CPU in a CPU profile of ten-record batches of
 * short jobs; this is one object and a spread per line.
 */
export function keyedLog(base: Logger, keys: LogAttributes): KeyedLog {
  const own: LogAttributes = { ...keys };
  return {
    appendKeys: (more) => {
      Object.assign(own, more);
    },
    debug: (message, ...extra) => base.debug(message, own, ...extra),
    info: (message, ...extra) => base.info(message, own, ...extra),
    warn: (message, ...extra) => base.warn(message, own, ...extra),
    error: (message, ...extra) => base.error(message, own, ...extra),
  };
}

/** An error as a log key: Powertools writes an Error's name, message, location and stack. */
export const describeError = (error: unknown) => ({ error });
