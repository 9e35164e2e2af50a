using ModelZoo.Torch.Weights;

namespace ModelZoo.Torch.Tests.Weights;

public class Sha256Tests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    const string AbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // FIPS 180-2 test vector

    [Fact]
    public void OfFile_GivesTheLowerCaseHexDigest_AndReportsProgress()
    {
        var path = _tmp.PathOf("abc.bin");
        File.WriteAllBytes(path, "abc"u8.ToArray());
        long seen = 0;
        Sha256.OfFile(path, new SyncProgress(n => seen = n)).ShouldBe(AbcSha256);
        seen.ShouldBe(3);
    }

    [Theory]
    [InlineData("ba7816bf", true)]
    [InlineData("BA7816BF", true)]
    [InlineData("ba7816be", false)]
    public void MatchesPrefix_ComparesCaseInsensitively(string prefix, bool expected) =>
        Sha256.MatchesPrefix(AbcSha256, prefix).ShouldBe(expected);

    [Fact]
    public void VerifyPrefix_Throws_WhenTheFileIsNotThePublishedOne()
    {
        var path = _tmp.PathOf("resnet18-f37072fd.pth");
        File.WriteAllBytes(path, "abc"u8.ToArray());
        Sha256.VerifyPrefix(path, "ba7816bf").ShouldBe(AbcSha256);
        Should.Throw<WeightsImportException>(() => Sha256.VerifyPrefix(path, Sha256.PrefixFromFileName(path)!))
            .Message.ShouldContain("does not start with the published 'f37072fd'");
    }

    [Theory]
    [InlineData("resnet18-f37072fd.pth", "f37072fd")]
    [InlineData("/zoo/vgg11_bn-6002323D.pth", "6002323d")]
    [InlineData("model.safetensors", null)]
    [InlineData("mobilenet_v3-large.pth", null)]
    public void PrefixFromFileName_ReadsTorchvisionNames(string name, string? expected) =>
        Sha256.PrefixFromFileName(name).ShouldBe(expected);

    sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
