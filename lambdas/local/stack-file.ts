/** Where a running `npm start` leaves its endpoints for local tools (`npm run keys`), relative to the project. */
export const LOCAL_STACK_FILE = '.local/stack.json';
