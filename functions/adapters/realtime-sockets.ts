/**
 * Frames to WebSocket connections through API Gateway's connections management API
 * (`POST @connections/{id}`), at the stage's HTTPS address (REALTIME_URL with ws → http).
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { captured, clientDefaults } from './aws-clients.ts';

export class RealtimeSockets {
  private client: ApiGatewayManagementApiClient | undefined;

  constructor(private readonly url: string) {}

  private sockets(): ApiGatewayManagementApiClient {
    this.client ??= captured(
      new ApiGatewayManagementApiClient({
        ...clientDefaults,
        endpoint: this.url.replace(/^ws/, 'http'),
      }),
    );
    return this.client;
  }

  /** Sends one text frame; false when the connection is gone (closed, or never known). */
  async send(connectionId: string, frame: unknown): Promise<boolean> {
    try {
      await this.sockets().send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(frame)) }),
      );
      return true;
    } catch (error) {
      if (error instanceof GoneException || (error as Error).name === 'GoneException') return false;
      throw error;
    }
  }
}
