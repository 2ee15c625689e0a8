import { SendEmailCommand, SESv2Client, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { z } from 'zod';
import { observeCalls } from '../shared/aws';
import { config } from '../shared/config';
import { sesSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { awsFailure, emailRecipient, parseSettings, perRegion } from './transport';

type SesSettings = z.output<typeof sesSettings>;

const utf8 = (data: string) => ({ Data: data, Charset: 'UTF-8' });

/**
 * SESv2 SendEmail with Simple content to exactly one recipient (cc and bcc besides, when a channel
 * override sets them): subject, text and HTML bodies, attachments, the message id header and tag
 * and the override's headers; then the provider override's `body` (SendEmail fields) merged over it.
 */
export function sesInput(message: ProviderSend<'email'>, settings: SesSettings): SendEmailCommandInput {
  const to = emailRecipient(message.address, 'ses');
  const { subject, text, html } = message.content;
  const envelope = message.email ?? {};
  const headers = Object.entries(envelope.headers ?? {}).map(([Name, Value]) => ({ Name, Value }));
  return {
    FromEmailAddress: envelope.from ?? settings.from,
    Destination: {
      ToAddresses: [typeof to === 'string' ? to : to.address],
      ...(envelope.cc ? { CcAddresses: envelope.cc } : {}),
      ...(envelope.bcc ? { BccAddresses: envelope.bcc } : {}),
    },
    ...(envelope.replyTo ? { ReplyToAddresses: envelope.replyTo } : {}),
    ConfigurationSetName: settings.configuration_set,
    // Our message id as an SES message tag: SES event publishing carries it in `mail.tags`, which is how
    // /inbound/providers/ses finds the message a Delivery, Bounce, Complaint, Open or Click is about.
    EmailTags: [{ Name: 'courier_message_id', Value: message.messageId }],
    Content: {
      Simple: {
        Subject: utf8(subject ?? ''),
        Body: { Text: utf8(text ?? ''), ...(html ? { Html: utf8(html) } : {}) },
        Headers: [...headers, { Name: 'X-Courier-Message-Id', Value: message.messageId }],
        ...(envelope.attachments
          ? {
              Attachments: envelope.attachments.map((a) => ({
                FileName: a.filename,
                RawContent: Buffer.from(a.data, 'base64'),
                ContentType: a.contentType,
                ContentDisposition: 'ATTACHMENT' as const,
              })),
            }
          : {}),
      },
    },
    ...(message.override?.body as Partial<SendEmailCommandInput> | undefined),
  };
}

/**
 * One client per region for the life of the function, so a warm function reuses its connections.
 * `maxAttempts: 1`: retries belong to the delivery pipeline, which schedules them through the
 * queue with backoff; SDK retries would spend the provider timeout inside one invocation.
 */
const client = perRegion((region) => observeCalls(new SESv2Client({ region, endpoint: config.SES_ENDPOINT, maxAttempts: 1 }), 'sesv2'));

/** Email through Amazon SES (API v2). */
export class SesAdapter implements ProviderAdapter<'email'> {
  async send(message: ProviderSend<'email'>): Promise<ProviderResult> {
    const settings = parseSettings(sesSettings, message.settings, 'ses');
    const input = sesInput(message, settings);
    try {
      const out = await client((message.override?.config?.region as string | undefined) ?? settings.region ?? config.AWS_REGION).send(
        new SendEmailCommand(input),
        { abortSignal: AbortSignal.timeout(message.timeoutMs) },
      );
      return { providerMessageId: out.MessageId, status: 'SENT' };
    } catch (e) {
      throw awsFailure(e, 'ses', message.timeoutMs);
    }
  }
}
