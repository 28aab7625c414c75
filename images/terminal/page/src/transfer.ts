/**
 * File upload and download over ZMODEM (zmodem.js), through the terminal itself: `sz file` in the shell
 * sends the file to the browser, which saves it as a download; `rz` asks the browser for files, which the
 * user picks. Every byte ttyd sends passes the Sentry first, which hands ordinary output on to the terminal
 * and takes over while a transfer runs.
 */
// deno-lint-ignore-file no-explicit-any -- zmodem.js has no types
import * as Zmodem from "zmodem.js/src/zmodem_browser";

export interface TransferIo {
  /** Output that is not part of a transfer, for the terminal. */
  toTerminal(data: Uint8Array): void;
  /** Bytes for the shell (ZMODEM's answers and the uploaded files). */
  toShell(data: Uint8Array): void;
  /** A line of progress, written over itself in the terminal. */
  progress(text: string): void;
  /** What a finished transfer did, in a line of its own. */
  report(text: string): void;
  /** Asks the user for the files to upload; resolves with none when they cancel. */
  chooseFiles(): Promise<FileList | File[]>;
  /** Hands a downloaded file to the browser. */
  save(name: string, data: Blob): void;
  /** A transfer started (true) or ended (false): the terminal takes no typing meanwhile. */
  busy(active: boolean): void;
}

export class Transfers {
  private sentry: any;
  private session: any;
  /** What the transfer did, told once it is over (the terminal takes typing again then). */
  private reports: string[] = [];

  constructor(private io: TransferIo) {
    this.sentry = this.newSentry();
  }

  /** Output from ttyd. */
  consume(data: Uint8Array): void {
    try {
      this.sentry.consume(Array.from(data));
    } catch (error) {
      // lrzsz's sz may send other bytes than zmodem.js expects after its last header ("OO"); the file is
      // saved by then. Start afresh, so the terminal shows the shell again.
      console.warn("[cloudshell] zmodem:", error);
      this.sentry = this.newSentry();
      this.ended();
      this.io.toTerminal(data);
    }
  }

  /**
   * Aborts an upload that failed on the browser's side. (Not offered for downloads: after an abort,
   * zmodem.js hands the rest of what sz had already sent to the terminal, as text.)
   */
  private cancel(): void {
    try {
      this.session?.abort();
    } catch {
      // already over
    }
  }

  private ended(): void {
    this.session = undefined;
    this.io.busy(false);
    for (const report of this.reports.splice(0)) this.io.report(report);
  }

  private newSentry(): any {
    return new Zmodem.Sentry({
      to_terminal: (octets: number[]) => this.io.toTerminal(new Uint8Array(octets)),
      sender: (octets: number[]) => this.io.toShell(new Uint8Array(octets)),
      on_retract: () => this.io.busy(false),
      on_detect: (detection: any) => this.detected(detection),
    });
  }

  private detected(detection: any): void {
    const session = detection.confirm();
    this.session = session;
    this.io.busy(true);
    session.on("session_end", () => this.ended());
    if (session.type === "send") void this.upload(session);
    else this.download(session);
  }

  /** `rz` in the shell: the files the user picks go up. */
  private async upload(session: any): Promise<void> {
    try {
      const files = await this.io.chooseFiles();
      if (files.length > 0) {
        await Zmodem.Browser.send_files(session, files, {
          on_progress: (_file: unknown, offer: any) => this.io.progress(describe(offer)),
        });
      }
      this.reports.push(
        files.length > 0 ? `Uploaded ${listed(files)}.` : "Upload cancelled.",
      );
      await session.close();
    } catch (error) {
      console.warn("[cloudshell] upload:", error);
      this.cancel();
    }
  }

  /** `sz file` in the shell: each file offered becomes a download. */
  private download(session: any): void {
    session.on("offer", (offer: any) => {
      offer.on("input", () => this.io.progress(describe(offer)));
      offer.accept().then((payloads: Uint8Array[]) => {
        const { name, size } = offer.get_details();
        this.io.save(
          name,
          new Blob(payloads, { type: "application/octet-stream" }),
        );
        this.reports.push(`Downloaded ${name} (${size} bytes).`);
      }).catch((error: unknown) => console.warn("[cloudshell] download:", error));
    });
    session.start();
  }
}

function describe(offer: any): string {
  const { name, size } = offer.get_details();
  const done = offer.get_offset();
  const percent = size ? Math.floor((100 * done) / size) : 100;
  return `${name}: ${percent}% of ${size} bytes`;
}

function listed(files: FileList | File[]): string {
  return [...files].map((f) => `${f.name} (${f.size} bytes)`).join(", ");
}
