// How the browser tests start Debian's Chromium (driven by playwright-core, which downloads no browser):
// headless, fake camera and microphone granted without a prompt, real host addresses in ICE candidates,
// and the stack's local CA trusted by its key. One list for the web demo's and the media service's tests
// (and the quiet part for the dashboard preview's screenshot).

/** The Chromium binary (`VOIP_CHROMIUM`, else Debian's). */
export const CHROMIUM = process.env.VOIP_CHROMIUM ?? '/usr/bin/chromium';

/** A browser that runs headless on a build machine: no sandbox (root), no GPU, nothing fetched or synced. */
export const QUIET_CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/**
 * Command-line flags for a test browser. `trustSpki`: the stack's `tls.spki`, so Chromium accepts the
 * local CA's certificate on HTTPS, WSS and turns: (its verifier skips the chain check for a certificate
 * with that key, and only for it).
 */
export function chromiumArgs(trustSpki?: string): string[] {
  return [
    ...QUIET_CHROMIUM_FLAGS,
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--disable-quic',
    // Real host addresses in ICE candidates (no .local mDNS names nobody here can resolve).
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    ...(trustSpki ? [`--ignore-certificate-errors-spki-list=${trustSpki}`] : []),
  ];
}
