namespace ModelZoo.Torch.Tests;

/// <summary>Locates <c>../shared/fixtures</c> beside the repository root, where CI and developers keep it.</summary>
public static class SharedFixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Dir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));

    public static string PathOf(string file)
    {
        var p = Path.Combine(Dir, file);
        if (!File.Exists(p)) throw new FileNotFoundException($"Parity fixture missing: {p}. Tests expect ../shared/fixtures beside the repository.", p);
        return p;
    }

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ModelZoo.sln"))) return d.FullName;
        throw new InvalidOperationException("ModelZoo.sln not found above " + AppContext.BaseDirectory);
    }
}
