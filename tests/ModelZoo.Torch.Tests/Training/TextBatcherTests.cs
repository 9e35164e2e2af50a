using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

public class TextBatcherTests
{
    static readonly WordPieceTokenizer Tok = WordPieceTokenizer.FromTokens(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", "##s", "dog"], lowercase: true);

    static readonly TextSet Texts = new()
    {
        Texts = ["the cat", "The dogs sat on the mat.", "cat", "the cat sat on the mat on the mat on the mat ."],
        Labels = [0, 1, 0, 1],
        ClassNames = ["a", "b"],
    };

    [Fact]
    public void Batch_PacksIdsMaskAndTypes_PaddedToTheLongestTextOfTheBatch()
    {
        var batcher = new TextBatcher(Texts, Tok, maxLength: 64, CPU);
        var (x, y) = batcher.Batch([0, 1, 2]);
        using (x) using (y)
        {
            // "The dogs sat on the mat." = the dog ##s sat on the mat . = 8 pieces + [CLS] + [SEP]
            x.shape.ShouldBe([3, 3, 10]);
            x.dtype.ShouldBe(ScalarType.Int64);
            x[0, 0].data<long>().ToArray().ShouldBe([2, 5, 6, 3, 0, 0, 0, 0, 0, 0]);
            x[0, 1].data<long>().ToArray().ShouldBe([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
            x[1, 0].data<long>().ToArray().ShouldBe([2, 5, 12, 11, 7, 8, 5, 9, 10, 3]);
            x[1, 1].data<long>().ToArray().ShouldAllBe(v => v == 1);
            x[2, 0].data<long>().ToArray().ShouldBe([2, 6, 3, 0, 0, 0, 0, 0, 0, 0]);
            x.select(1, 2).sum().item<long>().ShouldBe(0, "one segment: every token type is 0");
            y.data<long>().ToArray().ShouldBe([0, 1, 0]);
        }
    }

    [Fact]
    public void Batch_OfShortTexts_IsShort_AndALongTextIsTruncatedToMaxLength()
    {
        var batcher = new TextBatcher(Texts, Tok, maxLength: 8, CPU);
        var (sx, sy) = batcher.Batch([0, 2]);
        using (sx) using (sy) sx.shape.ShouldBe([2, 3, 4]);
        var (lx, ly) = batcher.Batch([3, 0]);
        using (lx) using (ly)
        {
            lx.shape.ShouldBe([2, 3, 8]);
            lx[0, 0].data<long>().ToArray().ShouldBe([2, 5, 6, 7, 8, 5, 9, 3], "the first 6 pieces, then [SEP]");
        }
    }

    [Fact]
    public void Batch_NamesItsDevice_EvenWhileTheDefaultDeviceIsMeta()
    {
        // The zoo never sets libtorch's process-wide default device (TorchRuntime.BuildDevice), but a library or a
        // future caller may: the batcher names its device rather than trust it. This assembly runs one test at a time.
        var batcher = new TextBatcher(Texts, Tok, maxLength: 16, CPU);
        (DeviceType, DeviceType, bool) device;
        set_default_device(META);
        try
        {
            var (x, y) = batcher.Batch([1, 3]);
            using (x) using (y) device = (x.device_type, y.device_type, x.sum().item<long>() > 0);
        }
        finally { set_default_device(CPU); }
        device.ShouldBe((DeviceType.CPU, DeviceType.CPU, true));
    }

    [Fact]
    public void Constructor_RefusesTextsAndLabelsOfDifferentCounts() =>
        Should.Throw<ArgumentException>(() => new TextBatcher(new TextSet { Texts = ["a"], Labels = [0, 1], ClassNames = ["x", "y"] }, Tok, 16, CPU))
            .Message.ShouldContain("1 texts but 2 labels");
}
