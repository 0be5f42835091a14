import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { StoredArtifact } from '#job-types/job-type';
import { captured, clientDefaults } from './aws-clients.ts';

let s3Client: S3Client | undefined;
// Path-style addressing works on AWS and on local endpoints alike (no bucket DNS needed).
const s3 = () => {
  s3Client ??= captured(new S3Client({ ...clientDefaults, forcePathStyle: true }));
  return s3Client;
};

/** Job outputs (images, reports) in the artifacts bucket. */
export class ArtifactStore {
  constructor(private readonly bucket: string) {}

  async put(key: string, body: Uint8Array, contentType: string): Promise<StoredArtifact> {
    await s3().send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
    return { key, contentType, bytes: body.byteLength };
  }

  async get(key: string): Promise<{ body: Uint8Array; contentType: string } | undefined> {
    try {
      const object = await s3().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        body: await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        contentType: object.ContentType ?? 'application/octet-stream',
      };
    } catch (error) {
      if (
        error instanceof NoSuchKey ||
        (error as Error).name === 'NoSuchKey' ||
        (error as Error).name === 'NotFound'
      )
        return undefined;
      throw error;
    }
  }
}
