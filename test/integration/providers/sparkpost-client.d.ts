/** The part of the sparkpost client (which ships no typings) the contract test uses. */
declare module 'sparkpost' {
  export default class SparkPost {
    constructor(key: string, options?: { origin?: string });
    transmissions: { send(transmission: Record<string, unknown>): Promise<unknown> };
  }
}
