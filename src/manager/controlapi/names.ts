import { randomInt } from 'node:crypto';

// A service created without a name gets one like Docker's namesgenerator: adjective_surname.
const LEFT = [
  'admiring',
  'brave',
  'clever',
  'eager',
  'focused',
  'gallant',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'nifty',
  'quirky',
  'serene',
  'upbeat',
  'vibrant',
  'zealous',
];
const RIGHT = [
  'albattani',
  'bardeen',
  'curie',
  'darwin',
  'euclid',
  'fermi',
  'galileo',
  'hopper',
  'kepler',
  'lovelace',
  'noether',
  'pasteur',
  'ritchie',
  'shannon',
  'turing',
  'wozniak',
];

export function randomServiceName(): string {
  return `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
}
