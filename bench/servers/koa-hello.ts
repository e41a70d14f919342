/** Benchmark target: the ceiling for any koa route, `GET /hello` → a small JSON body. Env: PORT, HOST. */
import Koa from 'koa';

const app = new Koa();
app.use((ctx) => {
  if (ctx.path === '/hello') ctx.body = { hello: 'world' };
});
app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
