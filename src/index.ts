/** postel's public API (package.json "main"/"types"). */
export * from './client/index.js';
