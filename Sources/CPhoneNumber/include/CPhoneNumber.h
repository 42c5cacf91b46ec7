#ifndef CPHONENUMBER_H
#define CPHONENUMBER_H

#ifdef __cplusplus
extern "C" {
#endif

/// Whether `candidate` (NUL-terminated UTF-8, digits with separators, optionally a leading '+')
/// is a valid phone number: international when it starts with '+' or "00", else a national
/// number of the first of `regions` (NUL-terminated, two-letter CLDR codes concatenated, e.g.
/// "USGBDE") for which libphonenumber's metadata calls it valid. Returns the index of that region
/// in `regions` (0 for an international number), or -1 when no region accepts it.
int cphonenumber_valid_region(const char *candidate, const char *regions);

#ifdef __cplusplus
}
#endif

#endif
