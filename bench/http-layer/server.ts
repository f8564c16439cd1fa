/** One bare JSON POST endpoint, on Express or on node:http (HTTP_LAYER), on PORT; for main.ts. */
import { createServer } from 'node:http';
import express from 'express';

const port = Number(process.env.PORT);
const answer = (body: unknown) => JSON.stringify({ id: 'x', status: 'waiting', got: typeof body });
if (process.env.HTTP_LAYER === 'express') {
  const app = express();
  app.use(express.json());
  app.post('/v1/eligibility', (req, res) => {
    res.status(202).type('json').send(answer(req.body));
  });
  app.listen(port);
} else {
  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(answer(body));
    });
  }).listen(port);
}
