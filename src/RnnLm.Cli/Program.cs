namespace RnnLm.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("rnnlm");
        return 0;
    }
}
