import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';

/**
 * commander, required as the CommonJS package it is. Imported through its ESM wrapper, Node
 * first scans its source for the names it exports: ~15 ms of every run's start-up.
 */
const commander = createRequire(import.meta.url)('commander') as typeof CommanderModule;

export const { Command, CommanderError, InvalidArgumentError, Option } = commander;
export type Command = CommanderModule.Command;
export type CommanderError = CommanderModule.CommanderError;
export type InvalidArgumentError = CommanderModule.InvalidArgumentError;
export type Option = CommanderModule.Option;
