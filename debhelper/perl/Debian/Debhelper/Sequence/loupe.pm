#!/usr/bin/perl
# dh sequence addon "loupe": run the package's test step under loupe.
#
# Enabled by Build-Depends: dh-sequence-loupe (it must be in Build-Depends,
# not -Arch/-Indep: the addon removes and adds commands), by
# "dh $@ --with loupe", or for an unmodified package by DH_EXTRA_ADDONS=loupe.
# Loading it changes nothing a build produces unless loupe is asked for
# explicitly (see dh_loupe(1)).
#
# How: dh_loupe takes the place of dh_auto_test and re-enters dh for a
# private one-command sequence "loupe-test" = [dh_auto_test]. That inner dh
# runs execute_before/override/execute_after_dh_auto_test (with their -arch
# and -indep forms), applies nocheck and parallel=N and passes the options,
# exactly as the outer dh would have; dh_loupe runs it under the tracer.
# dh_loupe_verdict runs once everything is installed and before anything is
# stripped: it attributes what ran to debian/<pkg> and writes the verdicts.
use strict;
use warnings;

# dh does not pass --with/--without to the commands it runs; dh_loupe needs
# them to re-enter dh with the same addons. Remember how this dh was called
# (argv separated by \x1e, as in DH_INTERNAL_OPTIONS).
if (open(my $fh, '<', '/proc/self/cmdline')) {
	local $/;
	my $cmdline = <$fh>;
	close($fh);
	my @argv = split(/\0/, $cmdline // '');
	# Drop the interpreter ("/usr/bin/perl [-w]") in front of dh itself.
	shift(@argv) while @argv && $argv[0] !~ m{(?:^|/)dh$};
	$ENV{DH_LOUPE_DH_ARGV} = join("\x1e", @argv) if @argv;
}

# dh_loupe_verdict re-runs "dh loupe-test" for the analysis. In compat 9
# and earlier dh skips every command already in debian/*.debhelper.log, so
# the inner dh would skip dh_auto_test and run nothing: drop it from the
# logs first. Each re-run sees the build tree through a private overlay
# (or a snapshot restored afterwards), so the real logs are not touched.
# Only the first dh of the re-run does this.
if ($ENV{DH_LOUPE_REPLAY}) {
	delete $ENV{DH_LOUPE_REPLAY};
	foreach my $log (glob('debian/*.debhelper.log')) {
		open(my $in, '<', $log) or next;
		my @lines = grep { $_ ne "dh_auto_test\n" && $_ ne 'dh_auto_test' } <$in>;
		close($in);
		open(my $out, '>', $log) or die("dh loupe addon: $log: $!\n");
		print {$out} @lines;
		close($out) or die("dh loupe addon: $log: $!\n");
	}
}

insert_before('dh_auto_test', 'dh_loupe');
remove_command('dh_auto_test');
add_command('dh_auto_test', 'loupe-test');
insert_after('dh_missing', 'dh_loupe_verdict');

1;
