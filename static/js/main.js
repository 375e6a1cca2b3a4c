/** Entry point of the home page: the studio, and sharing its picture by link. */
import { readClientConfig } from './config.js';
import { startStudio } from './studio.js';

const config = readClientConfig();
startStudio(config);
