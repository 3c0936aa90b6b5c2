/** The sections of `npm run bench`, in the order they run. Add new sections here. */
import type { BenchSection } from "../lib/section.js";
import { evacuationSection } from "./evacuation.js";
import { fleetSection } from "./fleet.js";
import { novaSection } from "./nova.js";
import { readApiSection } from "./read-api.js";
import { replicasSection } from "./replicas.js";
import { rollingSection } from "./rolling.js";

export const sections: BenchSection[] = [readApiSection, novaSection, evacuationSection, rollingSection, fleetSection, replicasSection];
