namespace ModelZoo.Cli;

/// <summary>Exit codes every command uses, so scripts and CI can tell a failed check from a mistyped command.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The command ran and its check failed (e.g. parity above the threshold).</summary>
    public const int Failed = 1;
    /// <summary>Bad arguments or input files (missing, corrupt, not fitting the architecture).</summary>
    public const int BadInput = 2;
}
