// Preloaded (`node --import`) into a process to stand for a host whose wall clock runs
// TEST_CLOCK_AHEAD_MS ahead of Redis's: one process's clock cannot be set apart otherwise.
const ahead = Number(process.env.TEST_CLOCK_AHEAD_MS ?? "0");
const wall = Date.now.bind(Date);
Date.now = () => wall() + ahead;
