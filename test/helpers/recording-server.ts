/**
 * An HTTP server on 127.0.0.1 that records every request and answers from a script: a list of
 * routes, each a sequence of responses (the last one repeats), or a small stand-in for GitHub's
 * issue comments API (list with pagination, create, update) that keeps its comments in memory.
 *
 * It runs in a worker thread, so it keeps answering while the test blocks in `spawnSync` (the way
 * test/helpers/action.ts runs an action bundle).
 */
import { Worker } from "node:worker_threads";

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
}

export interface Route {
  method?: string;
  /** A regular expression's source, matched against the path (without the query). */
  path: string;
  /** The responses in order; the last one answers every later request. */
  responses?: ScriptedResponse[];
  /** Answer as GitHub's issue comments API does. */
  githubComments?: true;
}

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

export interface StoredComment {
  id: number;
  issue: number;
  body: string;
}

const WORKER = String.raw`
const { parentPort } = require("node:worker_threads");
const http = require("node:http");
let routes = [];
let hits = [];
const requests = [];
const comments = [];
let nextId = 1000;
let port = 0;

function send(res, status, body, headers) {
  const text = typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain" : "application/json",
    ...(headers || {}),
  });
  res.end(text);
}

function githubComments(req, res, path, query, body) {
  const list = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(path);
  const one = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path);
  const view = (c) => ({ id: c.id, body: c.body, user: { login: "github-actions[bot]", type: "Bot" } });
  if (list && req.method === "GET") {
    const issue = Number(list[1]);
    const perPage = Number(query.get("per_page") || 30);
    const page = Number(query.get("page") || 1);
    const all = comments.filter((c) => c.issue === issue);
    const slice = all.slice((page - 1) * perPage, page * perPage);
    const headers = {};
    if (page * perPage < all.length) {
      headers.link = "<http://127.0.0.1:" + port + path + "?per_page=" + perPage + "&page=" + (page + 1) + '>; rel="next"';
    }
    return send(res, 200, slice.map(view), headers);
  }
  if (list && req.method === "POST") {
    const comment = { id: nextId++, issue: Number(list[1]), body: JSON.parse(body).body };
    comments.push(comment);
    return send(res, 201, view(comment));
  }
  if (one && req.method === "PATCH") {
    const comment = comments.find((c) => c.id === Number(one[1]));
    if (!comment) return send(res, 404, { message: "Not Found" });
    comment.body = JSON.parse(body).body;
    return send(res, 200, view(comment));
  }
  return send(res, 404, { message: "Not Found" });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    requests.push({ method: req.method, url: req.url, headers: req.headers, body, at: Date.now() });
    const parsed = new URL(req.url, "http://127.0.0.1");
    const index = routes.findIndex(
      (route) => (!route.method || route.method === req.method) && new RegExp(route.path).test(parsed.pathname),
    );
    if (index < 0) return send(res, 404, { message: "Not Found" });
    const route = routes[index];
    if (route.githubComments) return githubComments(req, res, parsed.pathname, parsed.searchParams, body);
    const responses = route.responses || [{ status: 200, body: "ok" }];
    const response = responses[Math.min(hits[index]++, responses.length - 1)];
    send(res, response.status, response.body, response.headers);
  });
});

parentPort.on("message", (message) => {
  const reply = (value) => parentPort.postMessage({ id: message.id, value });
  if (message.type === "routes") {
    routes = message.routes;
    hits = routes.map(() => 0);
    return reply(true);
  }
  if (message.type === "requests") return reply(requests.slice());
  if (message.type === "reset") {
    requests.length = 0;
    return reply(true);
  }
  if (message.type === "comments") return reply(comments.slice());
  if (message.type === "seed-comments") {
    for (const c of message.comments) comments.push({ id: nextId++, issue: c.issue, body: c.body });
    return reply(true);
  }
  if (message.type === "close") return server.close(() => reply(true));
});

server.listen(0, "127.0.0.1", () => {
  port = server.address().port;
  parentPort.postMessage({ ready: port });
});
`;

export interface RecordingServer {
  url: string;
  /** Replaces the script (and restarts every route's response sequence). */
  setRoutes(routes: Route[]): Promise<void>;
  requests(): Promise<RecordedRequest[]>;
  /** Forgets the recorded requests (the comments stay). */
  reset(): Promise<void>;
  comments(): Promise<StoredComment[]>;
  seedComments(comments: { issue: number; body: string }[]): Promise<void>;
  close(): Promise<void>;
}

export async function startRecordingServer(routes: Route[] = []): Promise<RecordingServer> {
  const worker = new Worker(WORKER, { eval: true });
  const pending = new Map<number, (value: unknown) => void>();
  let nextMessage = 1;
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject);
    worker.on("message", (message: { ready?: number; id?: number; value?: unknown }) => {
      if (message.ready) resolve(message.ready);
      else if (message.id !== undefined) {
        pending.get(message.id)?.(message.value);
        pending.delete(message.id);
      }
    });
  });
  const ask = <T>(message: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = nextMessage++;
      pending.set(id, resolve as (value: unknown) => void);
      worker.postMessage({ ...message, id });
    });
  const server: RecordingServer = {
    url: `http://127.0.0.1:${port}`,
    setRoutes: async (list) => {
      await ask({ type: "routes", routes: list });
    },
    requests: () => ask<RecordedRequest[]>({ type: "requests" }),
    reset: async () => {
      await ask({ type: "reset" });
    },
    comments: () => ask<StoredComment[]>({ type: "comments" }),
    seedComments: async (comments) => {
      await ask({ type: "seed-comments", comments });
    },
    close: async () => {
      await ask({ type: "close" });
      await worker.terminate();
    },
  };
  await server.setRoutes(routes);
  return server;
}
