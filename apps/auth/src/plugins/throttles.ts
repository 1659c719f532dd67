// Login, register and guest-creation throttles as app.throttles (see throttling/throttles.ts).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createThrottles, type ThrottleConfig, type Throttles } from '../throttling/throttles.js';

declare module 'fastify' {
  interface FastifyInstance {
    throttles: Throttles;
  }
}

export const throttlesPlugin = fp(
  async (app: FastifyInstance, opts: ThrottleConfig) => {
    app.decorate('throttles', createThrottles(app.redis, opts));
  },
  { name: 'throttles', dependencies: ['redis'] },
);
