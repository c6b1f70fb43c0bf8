import multiprocessing
import sys

from torrentdesk.cli import main

if __name__ == "__main__":
    # First: in the PyInstaller executable, processes spawned by multiprocessing (NiceGUI's
    # native window, run.cpu_bound) re-run this entry point; this hands them to their target.
    multiprocessing.freeze_support()
    sys.exit(main())
