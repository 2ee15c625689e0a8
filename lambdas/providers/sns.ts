import { PublishCommand, SNSClient, type MessageAttributeValue, type PublishCommandInput } from '@aws-sdk/client-sns';
import type { z } from 'zod';
import { observeCalls } from '../shared/aws';
import { config } from '../shared/config';
import { snsSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { awsFailure, invalidAddress, parseSettings, perRegion } from './transport';

type SnsSettings = z.output<typeof snsSettings>;

const attribute = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

/**
 * SNS Publish straight to a phone number: the SMS body is the rendered text. The provider
 * override's `body` replaces `Message` and adds `MessageAttributes` (ours are the defaults).
 */
export function snsInput(message: ProviderSend<'sms'>, settings: SnsSettings): PublishCommandInput {
  if (message.address.trim() === '') throw invalidAddress('sns', 'the address is not a phone number');
  const body = (message.override?.body ?? {}) as Pick<PublishCommandInput, 'Message' | 'MessageAttributes'>;
  return {
    PhoneNumber: message.address,
    Message: body.Message ?? message.content.body ?? '',
    MessageAttributes: {
      'AWS.SNS.SMS.SMSType': attribute(settings.sms_type),
      ...(settings.sender_id ? { 'AWS.SNS.SMS.SenderID': attribute(settings.sender_id) } : {}),
      ...body.MessageAttributes,
    },
  };
}

/** Per region, without SDK retries: see the SES adapter. */
const client = perRegion((region) => observeCalls(new SNSClient({ region, endpoint: config.SNS_ENDPOINT, maxAttempts: 1 }), 'sns'));

/** SMS through Amazon SNS. */
export class SnsAdapter implements ProviderAdapter<'sms'> {
  async send(message: ProviderSend<'sms'>): Promise<ProviderResult> {
    const settings = parseSettings(snsSettings, message.settings, 'sns');
    const input = snsInput(message, settings);
    try {
      const out = await client((message.override?.config?.region as string | undefined) ?? settings.region ?? config.AWS_REGION).send(
        new PublishCommand(input),
        { abortSignal: AbortSignal.timeout(message.timeoutMs) },
      );
      return { providerMessageId: out.MessageId, status: 'SENT' };
    } catch (e) {
      throw awsFailure(e, 'sns', message.timeoutMs);
    }
  }
}
