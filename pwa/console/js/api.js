// The HTTP side: bearer token kept in sessionStorage (one tab, gone when the tab is closed).

import { ERRORS } from "./labels.js";

const TOKEN_KEY = "vigie.console.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** What to tell the operator, in French. */
  get french() {
    const wait = this.details?.retry_after_s;
    if (this.code === "rate_limited" && wait) {
      return `Trop de tentatives : réessayez dans ${wait < 120 ? `${wait} s` : `${Math.ceil(wait / 60)} min`}.`;
    }
    if (ERRORS[this.code]) return ERRORS[this.code];
    if (this.status >= 500) return "Erreur du serveur : réessayez. Si elle persiste, prévenez l'administrateur.";
    if (this.status === 409) return "Action impossible dans l'état actuel de l'événement.";
    return `La demande a été refusée (${this.code || this.status}).`;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

const READ_RETRIES = 3;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds the server asked to wait before trying again (503 + Retry-After), or null. */
function retryAfter(response) {
  if (response.status !== 503) return null;
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) : 2;
}

export async function request(method, path, options = {}) {
  // A read is tried again when Vigie says it is busy or its database is down (503 + Retry-After);
  // a change is not: the operator sees why and decides (nothing was recorded).
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await requestOnce(method, path, options);
    } catch (error) {
      if (method !== "GET" || error.retryAfter == null || attempt >= READ_RETRIES) throw error;
      await sleep(error.retryAfter * 1000);
    }
  }
}

async function requestOnce(method, path, { json, form } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (error) {
    throw new ApiError(0, "network", "network error");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = data?.error || {};
    const apiError = new ApiError(response.status, err.code || "", err.message || response.statusText, err.details);
    apiError.retryAfter = retryAfter(response);
    if (response.status === 401 && path !== "/api/v1/auth/token") onUnauthorized(apiError);
    throw apiError;
  }
  return data;
}

/** A file of the API (PDF, CSV, HTML…) read with the bearer token: {blob, filename}. */
export async function fetchFile(path) {
  const headers = {};
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(path, { headers });
  } catch (error) {
    throw new ApiError(0, "network", "network error");
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    const err = data?.error || {};
    const apiError = new ApiError(response.status, err.code || "", err.message || response.statusText, err.details);
    if (response.status === 401) onUnauthorized(apiError);
    throw apiError;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const filename = /filename="?([^";]+)"?/i.exec(disposition)?.[1] || "";
  return { blob: await response.blob(), filename };
}

/** Save a file of the API on the operator's machine (the browser's download), under the server's name. */
export async function download(path, fallbackName) {
  const { blob, filename } = await fetchFile(path);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename || fallbackName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return link.download;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, json) => request("POST", path, { json }),
  login: (username, password) => request("POST", "/api/v1/auth/token", { form: { username, password } }),
};
