/* fcargs: extra firecracker arguments seen as options.
 *
 * An option is a word "--name" followed by its value word when that does
 * not start with '-' ("--level Debug", "--no-seccomp"), or one word
 * "--name=value".  Firecracker refuses an option given twice (exit 153:
 * "The argument 'no-seccomp' was provided more than once"), so lists from
 * two sources are merged by option name, not concatenated. */
#ifndef FCSNAP_FCARGS_H
#define FCSNAP_FCARGS_H

/* Merge the nadd words of add into args (*n malloc'd words, room for max):
 * every option named in add replaces the option of that name in args, an
 * option add names twice counts once (the last), and the rest of args is
 * kept; words that are no option are appended as they are.  The words of
 * add are copied.  Returns 0, or -1 with a message when the result would
 * exceed max words (args is then unchanged). */
int fcargs_merge(char **args, int *n, int max, char *const *add, int nadd);

#endif
