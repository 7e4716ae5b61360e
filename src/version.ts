/** The package version, recorded in manifests; a test keeps it equal to package.json's. */
export const LIFEBOAT_VERSION = "0.1.0";
