package blob

// LocksDir says whether OpenDisk keeps two stores on one directory apart
// on this system (see lockDir).
const LocksDir = locksDir
