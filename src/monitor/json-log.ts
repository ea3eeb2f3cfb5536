/**
 * Structured log lines: one JSON object per line, with a time, a level, an
 * event name and the release, so a log shipper can index them and a person
 * can grep them. Every decision the monitor makes (a measurement, a phase
 * change, a rollback) is logged with its reason.
 */
import { jsonSafe } from "../common/format.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "alert";

export interface LogLine {
  ts: string;
  level: LogLevel;
  event: string;
  [field: string]: unknown;
}

export type MonitorLog = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void;

/** A logger writing JSON lines to `sink` (stderr by default), every line carrying `base`. */
export function jsonLog(base: Record<string, unknown>, sink: (line: string) => void = (l) => process.stderr.write(l + "\n"), now: () => Date = () => new Date()): MonitorLog {
  return (level, event, fields = {}) => {
    const line: LogLine = { ts: now().toISOString(), level, event, ...base, ...fields };
    sink(JSON.stringify(jsonSafe(line)));
  };
}
