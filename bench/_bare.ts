import express from 'express';
import http from 'node:http';
const kind = process.argv[2];
if (kind === 'express') {
  const app = express();
  app.use(express.json());
  app.post('/v1/eligibility', (req, res) => { res.status(202).json({ id: 'x', n: (req.body as object) ? 1 : 0 }); });
  app.listen(4567);
} else {
  http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => { const b = JSON.parse(Buffer.concat(chunks).toString()); res.writeHead(202, { 'content-type': 'application/json' }); res.end(JSON.stringify({ id: 'x', n: b ? 1 : 0 })); });
  }).listen(4567);
}
