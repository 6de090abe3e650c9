// The one place that loads @peculiar/x509, so its set-up happens exactly once.
//
// @peculiar/x509 registers its algorithms in a tsyringe container, and tsyringe throws at require time
// ("tsyringe requires a reflect polyfill") unless a Reflect metadata polyfill is loaded first. So the
// polyfill import must stay above the library import.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// The library's type for a provider is the DOM Crypto, which this project does not compile against
// (lib is ES2022 only); Node's webcrypto is that same interface at run time.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
